"""Publishing the built site: plan (pure), sync (S3 via s3, or a local folder via local),
hashes, notify (WebSub, podping) and preview (a local HTTP server)."""
