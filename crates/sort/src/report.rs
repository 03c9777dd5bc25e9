//! The HTML page: chute maps and indicators, our plan against the baselines.
