"""Competitions: one edition of the alliance's contest, with its state and the people in it."""
