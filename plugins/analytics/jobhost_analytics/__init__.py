"""jobhost plugin: daily and weekly analytics reports."""
