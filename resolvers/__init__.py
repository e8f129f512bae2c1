"""From the outside world to suggestions: sources, fetching, matching, deadlines, cycles."""
