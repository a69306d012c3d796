"""The KU Leuven (T)OPTW text format of the benchmark instances (../shared/bench-data/optw/README.md)."""

import math

import numpy as np

from apps.itineraries.solver.model import Instance, Node, TourSpec


class FormatError(ValueError):
    pass


def parse_kuleuven(text: str, *, decimals: int = 1, tours: int = 1) -> Instance:
    """The instance in `text` with `tours` tours: travel times are Euclidean distances truncated (rounded down) to
    `decimals` decimals, every tour leaves the depot at 0 and is back by the depot's closing time."""
    if tours < 1:
        raise FormatError("At least one tour.")
    tokens = text.split()
    if len(tokens) < 6:
        raise FormatError("The header needs six numbers (k v N t D Q).")
    try:
        count = int(float(tokens[2]))
    except ValueError:
        raise FormatError("The header's third number (N, the customers) is not a number.") from None
    values = []
    position = 6  # node records follow the header as one stream: i x y d S f a l1..la O C
    try:
        for _ in range(count + 1):
            listed = int(float(tokens[position + 6]))
            record = tokens[position : position + 7 + listed + 2]
            if len(record) != 7 + listed + 2:
                raise IndexError
            values.append([float(value) for value in record])
            position += len(record)
    except IndexError:
        raise FormatError(f"Expected {count + 1} node records (the depot and {count} customers).") from None
    except ValueError:
        raise FormatError("A node record holds something that is not a number.") from None
    xy = np.array([[row[1], row[2]] for row in values])
    distance = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    scale = 10**decimals
    travel = np.floor(distance * scale + 1e-9) / scale  # truncated, as the best known values assume
    nodes = tuple(
        Node(id=int(row[0]), score=row[4], duration=row[3], opens=row[-2], closes=row[-1]) for row in values[1:]
    )
    budget = values[0][-1]
    if not math.isfinite(budget) or budget <= 0:
        raise FormatError("The depot's closing time (the time budget) must be positive.")
    return Instance(nodes=nodes, tours=tuple(TourSpec(0.0, budget) for _ in range(tours)), travel=travel)
