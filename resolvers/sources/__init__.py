"""One adapter per source kind; each turns fetched bytes into normalised items."""
