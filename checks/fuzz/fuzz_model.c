/* fuzz_model.c — libFuzzer target for the safetensors model loader
 * (ll_model_parse) against a small fixed network.
 *
 * The input is a whole .safetensors file. The network is the convnet of
 * checks/test_model.c — Conv (2, 1, 3, 3), BatchNorm with its two running
 * statistics, ReLU, Pool, Affine (18, 3) — so tensors of rank 1, 2 and 4,
 * parameters and buffers are all there for the name, shape, dtype and offset
 * checks to compare against. Promises checked: a rejected file gives a status
 * with a message naming it, and leaves every tensor of the network as it was
 * ("nothing is written unless the whole file fits", model.h); an accepted
 * file leaves only finite values (never NaN, inf, or a double too large for
 * the build's ll_real turned into inf).
 */
#include "fuzz.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "net.h"

/* The network of test_model.c: a 1 x 6 x 6 input, 2 filters of 3 x 3 with
 * padding 1, max pooling 2 x 2 with stride 2, 3 classes. */
#define NET_SEED 1
#define NET_CHANNELS 1
#define NET_SIDE 6
#define NET_FILTERS 2
#define NET_KERNEL 3
#define NET_STRIDE 1
#define NET_PAD 1
#define NET_POOL 2
#define NET_CLASSES 3

static ll_net *net;
static ll_real *snapshot; /* every value of every tensor, in collect() order */
static size_t snapshot_size;

/* Calls fn(value, offset) for each parameter and buffer of the network,
 * offset counting ll_reals from the first; returns the total count. */
static size_t each_tensor(void (*fn)(ll_tensor *, size_t))
{
    int n_params = 0, n_buffers = 0;
    const ll_param *p = ll_net_params(net, &n_params);
    const ll_buffer *b = ll_net_buffers(net, &n_buffers);
    size_t offset = 0;
    for (int i = 0; i < n_params + n_buffers; i++) {
        ll_tensor *v = i < n_params ? p[i].value : b[i - n_params].value;
        if (fn)
            fn(v, offset);
        offset += v->size;
    }
    return offset;
}

static void save_values(ll_tensor *v, size_t offset)
{
    memcpy(snapshot + offset, v->data, v->size * sizeof(ll_real));
}

static void restore_values(ll_tensor *v, size_t offset)
{
    memcpy(v->data, snapshot + offset, v->size * sizeof(ll_real));
}

static void check_values(ll_tensor *v, size_t offset)
{
    LL_FUZZ_CHECK(memcmp(v->data, snapshot + offset, v->size * sizeof(ll_real)) == 0,
                  "a rejected file changed the network's tensors");
}

static void check_finite(ll_tensor *v, size_t offset)
{
    (void)offset;
    for (size_t e = 0; e < v->size; e++)
        LL_FUZZ_CHECK(isfinite(v->data[e]), "an accepted file left a non-finite value at index %zu", e);
}

/* Builds the network once; a fuzzer run keeps it, so every input meets the
 * same network with the same values. */
static void setup(void)
{
    if (net)
        return;
    ll_pool_geom pool = {LL_POOL_MAX, NET_POOL, NET_POOL, NET_POOL, 0};
    ll_status s = ll_net_new(&net, LL_SHAPE(NET_CHANNELS, NET_SIDE, NET_SIDE), NET_SEED);
    if (s == LL_OK)
        s = ll_net_add_conv(net, NET_FILTERS, NET_KERNEL, NET_STRIDE, NET_PAD, ll_init_he());
    if (s == LL_OK)
        s = ll_net_add_batchnorm(net);
    if (s == LL_OK)
        s = ll_net_add_relu(net);
    if (s == LL_OK)
        s = ll_net_add_pool(net, pool);
    if (s == LL_OK)
        s = ll_net_add_affine(net, NET_CLASSES, ll_init_he());
    LL_FUZZ_CHECK(s == LL_OK, "cannot build the fixed network");
    snapshot_size = each_tensor(NULL);
    snapshot = malloc(snapshot_size * sizeof *snapshot);
    LL_FUZZ_CHECK(snapshot != NULL, "out of memory for %zu values", snapshot_size);
    each_tensor(save_values);
}

ll_status ll_fuzz_one(const uint8_t *data, size_t size)
{
    setup();
    ll_status s = ll_model_parse(net, data, size, LL_FUZZ_INPUT_NAME);
    if (s != LL_OK) {
        ll_fuzz_check_failure(s);
        each_tensor(check_values);
    } else {
        each_tensor(check_finite);
        each_tensor(restore_values);
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ll_fuzz_one(data, size);
    return 0;
}
