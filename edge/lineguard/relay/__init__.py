"""The relay in the loop: normally closed, energized = loop open = hang up."""
