"""SIP protocol core (RFC 3261): messages, digest auth, transactions, dialogs."""
