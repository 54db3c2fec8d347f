# behaviour: state constructors give the right type, name and data
from prefect.states import Cancelled, Completed, Crashed, Failed, Pending, Running, Scheduled

for make in (Completed, Failed, Crashed, Cancelled, Pending, Running, Scheduled):
    s = make()
    print(make.__name__, s.type.value, s.name, s.is_final())
print(Completed(data=5).result())
print(Completed(message="done").message)
