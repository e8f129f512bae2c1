"""Server-rendered pages: overview, questions, one question, the seed article, review queue."""
