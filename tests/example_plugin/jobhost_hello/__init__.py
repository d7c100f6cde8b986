"""Example jobhost plugin: greets people in the background."""
