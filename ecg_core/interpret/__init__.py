"""Reading new ECG images with a trained model: files in (PNG, JPEG, photos, scans, PDF pages), readings out."""
