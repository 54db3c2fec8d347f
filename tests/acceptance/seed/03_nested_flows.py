from prefect import flow, task
import random

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

even_or_odd()

