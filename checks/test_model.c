/* test_model.c — saved models: round trip with identical predictions, the
 * file layout, atomic replacement, and every kind of file that does not fit. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "net.h"

/* A small convnet with BatchNorm: parameters and buffers of every kind. */
static ll_net *small_net(uint64_t seed)
{
    ll_net *net = NULL;
    assert_ok(ll_net_new(&net, LL_SHAPE(1, 6, 6), seed));
    assert_ok(ll_net_add_conv(net, 2, 3, 1, 1, ll_init_he()));
    assert_ok(ll_net_add_batchnorm(net));
    assert_ok(ll_net_add_relu(net));
    assert_ok(ll_net_add_pool(net, (ll_pool_geom){LL_POOL_MAX, 2, 2, 2, 0}));
    assert_ok(ll_net_add_affine(net, 3, ll_init_he()));
    return net;
}

static const char *tmp_path(const char *file)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", ll_test_tmpdir(), file);
    return path;
}

static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

/* Train-mode forward changes BatchNorm's running statistics; predictions in
 * eval mode depend on them, so a model that loses them predicts differently. */
static void round_trip_gives_identical_predictions(void **state)
{
    (void)state;
    ll_net *a = small_net(1), *b = small_net(2);
    ll_tensor x = ll_test_random(LL_SHAPE(4, 1, 6, 6), 3, 0);
    ll_tensor t = ll_test_tensor(LL_SHAPE(4), (double[]){0, 1, 2, 1});
    double loss;
    assert_ok(ll_net_loss(a, &x, &t, &loss)); /* moves the running statistics */
    ll_net_set_training(a, false);
    ll_net_set_training(b, false);
    const char *path = tmp_path("model.safetensors");
    assert_ok(ll_model_save(a, path));
    assert_ok(ll_model_load(b, path));
    const ll_tensor *sa, *sb;
    assert_ok(ll_net_predict(a, &x, &sa));
    ll_tensor copy = {0};
    assert_ok(ll_tensor_alloc(&copy, sa->shape, LL_CPU));
    assert_ok(ll_tensor_copy(&copy, sa));
    assert_ok(ll_net_predict(b, &x, &sb));
    assert_memory_equal(copy.data, sb->data, copy.size * sizeof(ll_real));
    ll_tensor_free(&copy), ll_tensor_free(&x), ll_tensor_free(&t);
    ll_net_free(a), ll_net_free(b);
}

static void file_layout_is_safetensors(void **state)
{
    (void)state;
    ll_net *net = small_net(1);
    const char *path = tmp_path("layout.safetensors");
    assert_ok(ll_model_save(net, path));
    size_t n;
    unsigned char *b = read_all(path, &n);
    uint64_t len = 0;
    for (int i = 0; i < 8; i++)
        len |= (uint64_t)b[i] << (8 * i);
    assert_true(len % 8 == 0 && 8 + len < n);
    char *header = strndup((const char *)b + 8, (size_t)len);
    assert_non_null(strstr(header, sizeof(ll_real) == 4 ? "\"conv0.W\":{\"dtype\":\"F32\",\"shape\":[2,1,3,3],"
                                                        : "\"conv0.W\":{\"dtype\":\"F64\",\"shape\":[2,1,3,3],"));
    assert_non_null(strstr(header, "\"batchnorm1.running_var\""));
    assert_non_null(strstr(header, "\"__metadata__\":{\"format\":\"layerlab\""));
    /* The data section is exactly the sum of every tensor's bytes. */
    int np, nb;
    const ll_param *p = ll_net_params(net, &np);
    const ll_buffer *bu = ll_net_buffers(net, &nb);
    size_t total = 0;
    for (int i = 0; i < np; i++)
        total += p[i].value->size * sizeof(ll_real);
    for (int i = 0; i < nb; i++)
        total += bu[i].value->size * sizeof(ll_real);
    assert_int_equal(n - 8 - len, total);
    free(header), free(b);
    ll_net_free(net);
}

/* A failed load leaves the network exactly as it was. */
static void bad_files_name_the_tensor(void **state)
{
    (void)state;
    ll_net *net = small_net(1), *other = NULL;
    const char *path = tmp_path("good.safetensors");
    assert_ok(ll_model_save(net, path));
    size_t n;
    unsigned char *good = read_all(path, &n);
    ll_real w0 = ll_net_params(net, &(int){0})[0].value->data[0];

    /* Truncated: the last tensor (buffers come after parameters) runs past the end. */
    assert_fails(ll_model_parse(net, good, n - 4, "cut"), LL_EFORMAT, "tensor 'batchnorm1.running_var' has data_offsets");
    assert_fails(ll_model_parse(net, good, 5, "tiny"), LL_EFORMAT, "too short");
    assert_fails(ll_model_parse(net, good, 40, "header"), LL_EFORMAT, "declares a");

    /* Another architecture: more filters, so conv0.W's shape differs. */
    assert_ok(ll_net_new(&other, LL_SHAPE(1, 6, 6), 1));
    assert_ok(ll_net_add_conv(other, 3, 3, 1, 1, ll_init_he()));
    assert_fails(ll_model_parse(other, good, n, "m"), LL_EFORMAT,
                 "tensor 'conv0.W' has shape (2, 1, 3, 3), the network expects (3, 1, 3, 3)");
    ll_net_free(other);
    /* A network without BatchNorm: the file has a tensor it lacks. */
    assert_ok(ll_net_new(&other, LL_SHAPE(1, 6, 6), 1));
    assert_ok(ll_net_add_conv(other, 2, 3, 1, 1, ll_init_he()));
    assert_fails(ll_model_parse(other, good, n, "m"), LL_EFORMAT, "does not have");
    ll_net_free(other);

    /* Edited headers: a wrong dtype, a renamed tensor (so one is missing), bad JSON. */
    unsigned char *bad = malloc(n);
    memcpy(bad, good, n);
    char *dtype = strstr((char *)bad + 8, "\"dtype\":\"F");
    assert_non_null(dtype);
    memcpy(dtype + 9, "I6", 2);
    assert_fails(ll_model_parse(net, bad, n, "m"), LL_EFORMAT, "tensor 'conv0.W' has dtype I6");
    memcpy(bad, good, n);
    char *name = strstr((char *)bad + 8, "\"conv0.b\"");
    name[1] = 'k';
    assert_fails(ll_model_parse(net, bad, n, "m"), LL_EFORMAT, "konv0.b");
    memcpy(bad, good, n);
    bad[8] = '[';
    assert_fails(ll_model_parse(net, bad, n, "m"), LL_EFORMAT, "not a JSON object");
    assert_true(ll_net_params(net, &(int){0})[0].value->data[0] == w0);

    assert_fails(ll_model_load(net, tmp_path("missing.safetensors")), LL_EIO, "cannot open");
    free(bad), free(good);
    ll_net_free(net);
}

/* Saving over an existing model replaces it whole and leaves no .tmp behind;
 * a save that cannot write leaves the old file alone. */
static void saving_is_atomic(void **state)
{
    (void)state;
    ll_net *a = small_net(1), *b = small_net(2);
    const char *path = tmp_path("atomic.safetensors");
    assert_ok(ll_model_save(a, path));
    assert_ok(ll_model_save(b, path));
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_null(fopen(tmp, "rb"));
    assert_ok(ll_model_load(a, path));
    int n;
    assert_true(ll_net_params(a, &n)[0].value->data[0] == ll_net_params(b, &n)[0].value->data[0]);
    assert_fails(ll_model_save(a, "/nonexistent-dir/m.safetensors"), LL_EIO, "cannot write");
    ll_net_free(a), ll_net_free(b);
}

/* Saving and loading read and write host memory: a network on the GPU is
 * refused by name, before anything is read or written (its tensors here
 * only claim the GPU; the refusal comes before any access). */
static void gpu_networks_are_refused(void **state)
{
    (void)state;
    ll_net *a = small_net(1);
    char path[4096];
    snprintf(path, sizeof path, "%s", tmp_path("gpu.safetensors")); /* tmp_path's buffer is reused */
    assert_ok(ll_model_save(a, path));
    int n;
    ll_tensor *W = ll_net_params(a, &n)[0].value;
    ll_real first = W->data[0];
    W->device = LL_GPU;
    assert_fails(ll_model_save(a, tmp_path("gpu2.safetensors")), LL_EDEVICE,
                 "model save: conv0.W is on the GPU");
    assert_fails(ll_model_load(a, path), LL_EDEVICE, "model load: conv0.W is on the GPU");
    W->device = LL_CPU;
    assert_true(W->data[0] == first);
    ll_net_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_gives_identical_predictions),
        cmocka_unit_test(file_layout_is_safetensors),
        cmocka_unit_test(bad_files_name_the_tensor),
        cmocka_unit_test(saving_is_atomic),
        cmocka_unit_test(gpu_networks_are_refused),
    };
    return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
