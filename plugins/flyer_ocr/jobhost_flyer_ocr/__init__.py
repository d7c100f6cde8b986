"""jobhost plugin: OCR of grocery flyers into deals (tesseract)."""
