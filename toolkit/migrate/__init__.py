"""Moving an existing podcast in (`podkit import`): read its feed, map it, download media."""
