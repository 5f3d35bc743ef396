"""Server-rendered pages of correspondence."""
