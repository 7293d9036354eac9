"""Turns the outbox and the schedule into mail: rendering, composing, delivery with retries."""
