"""A user's own implementation plugged in as a system (`FunctionSystem`), for the API and pytest-plugin tests.

`my_conv_transpose` is a transposed convolution in torch's meaning; here it asks convtx's own
reference (written in torch's terms) so that every cell it can say must pass.  `MineSystem` runs it
in a worker process like any framework; the tests register it by class (`convtx.run(..., [MineSystem])`,
`@pytest.mark.convtx(..., systems=[MineSystem])`) or by path (`PATH`).
"""

from __future__ import annotations

import numpy as np

from convtx.adapters.function_system import FunctionSystem

PATH = "support.mine_system:MineSystem"


def my_conv_transpose(x: np.ndarray, w: np.ndarray, stride, padding, output_padding, dilation, groups) -> np.ndarray:
    import convtx
    return convtx.reference(x, w, stride=list(stride), padding=list(padding), output_padding=list(output_padding),
                            dilation=list(dilation), groups=groups)


class MineSystem(FunctionSystem):
    id = "mine"
    function = staticmethod(my_conv_transpose)
    function_version = "1.0-mine"
