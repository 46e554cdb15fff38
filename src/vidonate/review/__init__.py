"""Review: the queue of clips waiting for votes, and the vote that decides them."""
