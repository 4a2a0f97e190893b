# %% [markdown]
# # 06 · BigQuery ML: a tip model in SQL
#
# **What you will learn**
# - what BigQuery ML is: training and using models with SQL, next to the data;
# - feature preparation, `CREATE MODEL` for a linear regression of the tip, `ML.EVALUATE` and `ML.PREDICT`;
# - the same model trained locally on the same rows (least squares with NumPy), with the metrics `ML.EVALUATE` reports.
#
# **What you need running:** the local stack and the lake (the next cell ensures both, and notebook 02's tables).

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from google.api_core.exceptions import GoogleAPICallError

from zoomcamp import datasets, stack, warehouse
from zoomcamp.exercises import check
from zoomcamp.lake import Lake

stack.up()
lake = Lake()
months = ["2021-01", "2021-02", "2021-03"]
lake.ingest("yellow", months, progress=False)
wh = warehouse.Warehouse()
bq = wh.client
wh.create_dataset()
wh.run("02_external_table", kind="yellow")
wh.run("02_native_table", kind="yellow")
trips = pd.concat([datasets.read_csv(datasets.trip_file("yellow", m)) for m in months])  # the independent copy

# %% [markdown]
# ## What BigQuery ML is
#
# BigQuery ML trains models with `CREATE MODEL ... AS SELECT`: the training data never leaves the warehouse, and the
# people who write SQL can build a model. It offers linear and logistic regression, k-means, boosted trees (XGBoost),
# deep neural networks, matrix factorisation, time series (ARIMA_PLUS), imported TensorFlow/ONNX models, and remote
# models. It also does the routine work: one-hot encoding of `STRING` features, standardisation of numbers,
# train/evaluation split, hyperparameter tuning. Models can be exported to GCS and served (e.g. TensorFlow Serving in
# Docker, as in the original course).
#
# ## Features
#
# Which fare, distance, zones and tolls predict the tip? Location ids are categories, so they are cast to `STRING` —
# BigQuery ML then one-hot encodes them. Tips are recorded for card payments only, so the model learns from those.

# %%
print(wh.sql("06_ml_table"))
wh.run("06_ml_table")
training = wh.query("06_training_data")
kept = trips[(trips["payment_type"] == 1) & (trips["fare_amount"] > 0) & (trips["tip_amount"] >= 0)
             & (trips["trip_distance"] > 0) & trips["passenger_count"].notna()]
assert len(training) == len(kept)
assert abs(training["tip_amount"].sum() - kept["tip_amount"].sum()) < 0.05
training.head()

# %% [markdown]
# ## CREATE MODEL

# %%
print(wh.sql("06_create_model"))
job = wh.run("06_create_model")
model = bq.get_model(wh.table_id("tip_model"))
features = [f.name for f in model.feature_columns]
assert job.statement_type == "CREATE_MODEL"
assert features == [c for c in training.columns if c != "tip_amount"] and [f.name for f in model.label_columns] == ["tip_amount"]
print(model.model_type, "| features:", ", ".join(features), "| label: tip_amount")

# %% [markdown]
# **On the emulator** `CREATE MODEL` checks the statement and its training query and registers the model (its type,
# features and label, as above) — but it trains nothing, and `ML.EVALUATE` / `ML.PREDICT` are not supported. On
# BigQuery (`backend = "gcp"`) the next cell evaluates the trained model; on the emulator it shows the refusal.

# %%
print(wh.sql("06_evaluate"))
if wh.emulator:
    try:
        wh.query("06_evaluate")
    except GoogleAPICallError as exc:
        print("emulator:", (exc.errors[0]["message"] if exc.errors else exc.message).split(". See")[0])
else:
    display(wh.query("06_evaluate"))
    display(wh.query("06_predict").head())


# %% [markdown]
# ## The same model, trained here
#
# A linear regression without regularisation is ordinary least squares, and for a few thousand features BigQuery ML
# solves it exactly (its `optimize_strategy` picks the *normal equation*). Numbers are standardised and strings
# one-hot encoded, which changes the coefficients' scale but not the predictions. So NumPy's `lstsq` on the same
# encoded rows is the same model (scikit-learn's `LinearRegression` would solve the same problem).
#
# `AUTO_SPLIT` keeps 20% of the rows for evaluation when there are between 500 and 50,000; here a seeded random 20%.

# %%
def design(frame: pd.DataFrame, columns=None) -> pd.DataFrame:
    """The model's inputs: numbers as they are, STRING features one-hot encoded, plus an intercept."""
    encoded = pd.get_dummies(frame[features], columns=["PULocationID", "DOLocationID"], dtype=float)
    encoded.insert(0, "intercept", 1.0)
    return encoded if columns is None else encoded.reindex(columns=columns, fill_value=0.0)


rng = np.random.default_rng(42)
is_eval = rng.random(len(training)) < 0.2
train, evaluate = training[~is_eval], training[is_eval]
X_train = design(train)
coef, *_ = np.linalg.lstsq(X_train.to_numpy(), train["tip_amount"].to_numpy(), rcond=None)
predicted = design(evaluate, X_train.columns).to_numpy() @ coef

# Least squares leaves residuals orthogonal to every input column: an independent check that it solved the problem.
residuals = train["tip_amount"].to_numpy() - X_train.to_numpy() @ coef
assert np.abs(X_train.to_numpy().T @ residuals).max() < 1e-6 * len(train)

actual = evaluate["tip_amount"].to_numpy()
errors = actual - predicted
metrics = pd.Series({
    "mean_absolute_error": np.abs(errors).mean(),
    "mean_squared_error": (errors ** 2).mean(),
    "median_absolute_error": np.median(np.abs(errors)),
    "r2_score": 1 - (errors ** 2).sum() / ((actual - actual.mean()) ** 2).sum(),
    "explained_variance": 1 - errors.var() / actual.var(),
})
baseline_mae = np.abs(actual - train["tip_amount"].mean()).mean()  # always predicting the average tip
assert metrics["mean_absolute_error"] < baseline_mae and metrics["r2_score"] > 0
metrics.round(4).to_frame("evaluation (20%)").T.assign(baseline_mae=round(baseline_mae, 4))

# %% [markdown]
# The same columns `ML.EVALUATE` returns for a regression. The model beats "always the average tip" clearly: fare
# (and so distance) drives the tip.

# %%
fig, ax = plt.subplots(figsize=(5, 4))
ax.scatter(actual, predicted, s=4, alpha=0.4)
ax.plot([0, actual.max()], [0, actual.max()], color="grey", linewidth=1)
ax.set(xlabel="actual tip", ylabel="predicted tip", title="evaluation rows: predicted vs actual");

# %% [markdown]
# ## Exercise 1
#
# How many rows does the model train on (`yellow_tripdata_ml`)?

# %%
my_answer = None  # an integer

# %%
check(my_answer, len(kept))

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = len(wh.query("06_training_data"))
assert check(solution, len(kept))

# %% [markdown]
# ## Exercise 2
#
# Fit a model with `fare_amount` as its only feature (and an intercept) on the **training** rows `train`. What is its
# slope (dollars of tip per dollar of fare), to 4 decimals? Use `np.linalg.lstsq`.

# %%
my_answer = None  # a number

# %%
# Simple regression in closed form: slope = cov(fare, tip) / var(fare).
slope = train["fare_amount"].cov(train["tip_amount"]) / train["fare_amount"].var()
check(my_answer, round(slope, 4))

# %% jupyter={"source_hidden": true} tags=["solution"]
X = np.column_stack([np.ones(len(train)), train["fare_amount"]])
(intercept, per_dollar), *_ = np.linalg.lstsq(X, train["tip_amount"].to_numpy(), rcond=None)
solution = round(float(per_dollar), 4)
assert check(solution, round(slope, 4))

# %% [markdown]
# ## Exercise 3
#
# With that one-feature model, what tip does it predict for a 20-dollar fare, to the cent?

# %%
my_answer = None  # a number

# %%
expected_tip = train["tip_amount"].mean() + slope * (20 - train["fare_amount"].mean())
check(my_answer, round(expected_tip, 2))

# %% jupyter={"source_hidden": true} tags=["solution"]
X = np.column_stack([np.ones(len(train)), train["fare_amount"]])
(intercept, per_dollar), *_ = np.linalg.lstsq(X, train["tip_amount"].to_numpy(), rcond=None)
solution = round(float(intercept + 20 * per_dollar), 2)
assert check(solution, round(expected_tip, 2))

# %% [markdown]
# ## Summary
#
# - BigQuery ML trains models with SQL where the data is: `CREATE MODEL`, `ML.EVALUATE`, `ML.PREDICT`.
# - Prepare features in SQL (categories as `STRING` are one-hot encoded); pick the rows the label makes sense for.
# - A linear regression is least squares: trained here with NumPy on the same rows, it beats the average-tip baseline.
# - The emulator registers models but does not train them; run with `backend = "gcp"` for the cloud path.
#
# **Next:** week 4, [analytics engineering with dbt](../week_4_analytics_engineering/README.md)

# %%
from zoomcamp import course

course.record("week_3_warehouse/06_bigquery_ml.ipynb")  # this notebook ran to the end
