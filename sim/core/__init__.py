"""The model's core: the escalation ladder, the state of a batch of runs, the arrays a batch shares, and
the random draws. Plain numpy; nothing here reads a file or knows about Mesa."""
