"""X12 EDI reading: a tolerant tokenizer shared by the transaction readers, and the 835 reader."""
