"""Input: scenario, geography, parameter and strategy files, read and checked into typed objects.

Every mistake in a file a user wrote is a :class:`sim.errors.UserError` naming the file and the field."""
