"""The ways in: HTTP API, dashboard, scheduler and command line."""
