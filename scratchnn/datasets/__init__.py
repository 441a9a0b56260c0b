"""Small datasets generated in code (nothing is downloaded)."""
