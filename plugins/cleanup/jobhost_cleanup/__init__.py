"""jobhost plugin: temporary-file and expired-token cleanup."""
