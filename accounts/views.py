"""Server-rendered pages of accounts."""
