# Expected OCR-stage time per invoice in the case-study world
# (case_study.json), naive against recommended policy, from the world
# model's parameters alone (no breakers, no retry budget): a check, by
# Monte Carlo, of where the predicted processing-time increase comes from
# (scenarios/models/README.md). Not part of the simulation.
import math, random
random.seed(1)
def ocr_latency(q): return 2.0*math.exp(1.5*(1-q))*math.exp(random.gauss(0,0.4))
def backup_latency(q): return 6.0*math.exp(0.5*(1-q))*math.exp(random.gauss(0,0.3))
def band():
    r=random.random()
    if r<0.70: return 'good', random.uniform(0.6,1.0)
    if r<0.85: return 'fair', random.uniform(0.3,0.6)
    return 'poor', random.uniform(0.02,0.22)
def attempt(q, timeout):
    hang = q<0.30 and random.random() < (0.30-q)/0.30
    if hang: return timeout, False
    t=ocr_latency(q)
    if t>timeout: return timeout, False
    if q<0.05: return t, 'unreadable'
    if random.random()<0.02: return t, 'refused'
    return t, True
def naive(q):
    t,ok=attempt(q,30.0); return t
def recommended(q):
    total=0.0
    for step in range(2):
        for i in range(5):
            t,ok=attempt(q,10.0); total+=t
            if ok is True or ok=='unreadable': return total
            if ok=='refused': break
            if i<4: total+=random.uniform(0,min(8.0,2**i))  # full jitter: 1, 2, 4, 8 s
        total+=backup_latency(q)
        return total
N=400000
sums={'good':[0,0,0],'fair':[0,0,0],'poor':[0,0,0]}
for _ in range(N):
    b,q=band(); s=sums[b]; s[0]+=1; s[1]+=naive(q); s[2]+=recommended(q)
tot_n=sum(s[1] for s in sums.values())/N; tot_r=sum(s[2] for s in sums.values())/N
for b,s in sums.items(): print(b, 'share %.3f naive %.2f s recommended %.2f s, contributes %+.2f s per invoice'%(s[0]/N, s[1]/s[0], s[2]/s[0], (s[2]-s[1])/N))
print('all: naive %.2f s, recommended %.2f s, delta %+.2f s'%(tot_n,tot_r,tot_r-tot_n))
