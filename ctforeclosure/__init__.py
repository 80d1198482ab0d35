"""ctforeclosure: every Connecticut foreclosure case, complete and current."""

__version__ = "0.1.0"
