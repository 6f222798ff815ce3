"""Run tracking: experiments, runs, params, metrics, tags and run search."""
