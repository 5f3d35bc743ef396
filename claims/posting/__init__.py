"""Remittance posting: store a read 835 (``store``), match claim payments to claims
(``match``), and post them to the ledger with denials, variances and exceptions (``engine``)."""
