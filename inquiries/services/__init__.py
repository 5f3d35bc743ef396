"""Every change to cases and what hangs off them goes through these modules.

Each entry-point service runs in its own durable transaction, locks the case (or the
row it changes), checks the actor's permission again, and records row history with a
reason plus an event on the case's timeline.
"""
