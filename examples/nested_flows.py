"""Seed example 3 (a flow calling a task and a subflow), with headwater imports."""

import random

from headwater import flow, task


@task
def generate_a_number():
    return random.randint(0, 100)


@flow(name="even number")
def is_even_number(number: int):
    return (number % 2) == 0


@flow(name="even or odd")
def even_or_odd():
    number = generate_a_number()
    if is_even_number(number):
        print(f"the number {number} is even")
    else:
        print(f"the number {number} is odd")


if __name__ == "__main__":
    even_or_odd()
