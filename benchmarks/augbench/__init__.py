"""The measurements behind ``make bench``, one module per measurement.

``benchmarks/run.py`` is the entry point; it runs these in order and writes
the report.

=============== ============================================================
module          what it owns
=============== ============================================================
``config``      the augmentation compared, the sizes and repeats of a run,
                the machine and library versions (no TensorFlow import)
``records``     the result rows and :class:`~augbench.records.BenchmarkResults`
                (plain data, no TensorFlow import)
``timing``      the one timing loop (:func:`~augbench.timing.round_robin`)
                every measurement uses, and speed rows from its timings
``methods``     the images and every method compared, as one pass each
``throughput``  images/s of the course pipeline against the other libraries,
                its tf.data variants and the cost of each transform
``fused``       the fused augmenter against the Keras chain, albumentations
                and ImageDataGenerator, and the cost of each of its steps
``training``    the step time of the course CNN with and without augmentation
``memory``      peak RSS of fresh processes, streaming against materializing
``notebooks``   seconds to execute each notebook
``targets``     the targets, and for every miss by how much and why, from
                the measurements
``report``      tables, Markdown, plain text, the plot and the written files
=============== ============================================================

Only ``timing``, ``config``, ``records`` and ``targets`` import nothing heavy,
so the report can be built and tested from recorded numbers.
"""
