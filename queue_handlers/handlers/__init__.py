"""Built-in handlers, found by name: job type "x_y" -> module x_y.py, class XYHandler."""
