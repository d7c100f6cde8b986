"""jobhost plugin: SMTP delivery queue, deal alerts and transactional mail."""
