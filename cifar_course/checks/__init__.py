"""Small checks for the exercises: each prints what is right, or raises with what is wrong, in plain words.

Every ``check_*`` function returns None: it prints "Correct: ..." or "Not answered yet: ...", or raises
``CheckFailed``. A failure says what is wrong and how to find the right answer, never the answer itself. The
lessons call them as ``cc.checks.check_...``; each lives in the module of the lesson that first asks for it.
"""

from ._core import CheckFailed
from ._released import check_output_shape, check_param_count, check_value
from .lesson01 import check_all_classes_present, check_one_hot, check_scaled, check_shape
from .lesson02 import check_accuracy_at_least, check_conv_params, check_model
from .lesson03 import check_dense_params, check_dropout_kept_value, check_early_stopping
from .lesson04 import check_best_epoch
from .lesson05 import check_layer_params, check_vgg_preprocessed
from .lesson06 import check_confident_accuracy, check_confusion_matrix
from .lesson07 import check_ablation_prediction, check_batchnorm_params, check_mixup, check_schedule_reading
from .lesson08 import check_residual_block, check_separable_params
from .lesson09 import check_occlusion_prediction, check_sharpest_layer

__all__ = [
    "CheckFailed",
    # lesson 01: data exploration
    "check_all_classes_present", "check_one_hot", "check_scaled", "check_shape",
    # lesson 02: the baseline CNN
    "check_accuracy_at_least", "check_conv_params", "check_model",
    # lesson 03: dropout
    "check_dense_params", "check_dropout_kept_value", "check_early_stopping",
    # lesson 04: the deeper CNN
    "check_best_epoch",
    # lesson 05: transfer learning
    "check_layer_params", "check_vgg_preprocessed",
    # lesson 06: error analysis
    "check_confident_accuracy", "check_confusion_matrix",
    # lesson 07: the training recipe
    "check_ablation_prediction", "check_batchnorm_params", "check_mixup", "check_schedule_reading",
    # lesson 08: architecture
    "check_residual_block", "check_separable_params",
    # lesson 09: what the network sees
    "check_occlusion_prediction", "check_sharpest_layer",
    # no lesson calls these any more; notebooks released earlier do
    "check_output_shape", "check_param_count", "check_value",
]  # fmt: skip
