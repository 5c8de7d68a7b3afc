"""Where builds live and what they record: paths (layout), the build record, transactional
promotion of an episode's build, and memos of values computed from files (hashcache)."""
