"""The audit: a spec that is the union of study specs, validated up front, and the runner that resumes it."""
