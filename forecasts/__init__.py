"""The domain: questions, forecasts, resolutions and scores. No web, scheduler or HTTP here."""
