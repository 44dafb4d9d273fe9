"""The numbers: metrics from the calls' event streams, the weekly review, the survey and feedback loop."""
