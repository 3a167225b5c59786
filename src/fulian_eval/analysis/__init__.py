"""What is done with scored results: ranking, cross-checks, agreement, sensitivity, sampling."""
