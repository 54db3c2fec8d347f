"""Seed example 1 (basic flow), written with headwater imports."""

from headwater import flow


@flow
def test_flow():
    print("Hello world")


if __name__ == "__main__":
    test_flow()
