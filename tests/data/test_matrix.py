import numpy as np

from infrec.data.matrix import row_index


def test_row_index_turns_runs_into_slices():
    data = np.arange(40.0).reshape(10, 4)
    for rows in (np.arange(3, 8), np.array([5])):
        index = row_index(rows)
        assert isinstance(index, slice)
        np.testing.assert_array_equal(data[index], data[rows])
    for rows in (np.array([1, 3]), np.array([4, 3]), np.array([], int)):
        np.testing.assert_array_equal(row_index(rows), rows)
