"""The Airflow edge: turn Connections, Variables and DAG params into domain services, and nothing more.

Only this package (and the DAG files) import Airflow. Domain errors become task failures here.
"""
