"""Services of the claims app: every change to claims, remittances and their follow-up work."""
