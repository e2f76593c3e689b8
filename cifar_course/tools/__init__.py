"""The course's tools: the ``cifar-course`` command, the notebook runner, the report and the data import.

Lessons never import this subpackage; it imports the lesson modules (data, training, reference) it needs.
"""
