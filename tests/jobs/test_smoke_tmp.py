import pytest, time
from jobs.models import Job, JobState, JobAttempt
from tests.helpers import wait_for
from tests.jobs.tasks import noop_job, flaky_job, unique_job

@pytest.mark.django_db(transaction=True)
def test_smoke(celery_worker):
    e = noop_job.enqueue()
    wait_for(lambda: Job.objects.filter(pk=e.job_id, state=JobState.SUCCEEDED).exists(), timeout=10, message="ran")
    f = flaky_job.enqueue(key="z", fail_times=1)
    wait_for(lambda: Job.objects.filter(pk=f.job_id, state=JobState.SUCCEEDED).exists(), timeout=20, message="retried")
    assert Job.objects.get(pk=f.job_id).attempt == 2
    assert JobAttempt.objects.filter(job_id=f.job_id).count() == 2
    a = unique_job.enqueue(n=1); b = unique_job.enqueue(n=1)
    assert b.duplicate and b.job_id == a.job_id
