"""Server-rendered pages of payers."""
