"""What a study's rounds say, without TensorFlow: the round record (`rounds`), summaries, tables, the
report's own numbers (`reference`), claims, figures, failure summaries, the speed report, and the files a
study writes (`study_files`). import-linter keeps TensorFlow and Keras out of this package.
"""
