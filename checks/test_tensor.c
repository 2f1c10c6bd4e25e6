/* test_tensor.c — shapes, allocation, buffer reuse, copies, the expect_* checks,
 * and what a GPU request does on a machine without one. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "gpu.h"

static void shape_macro_counts_rank(void **state)
{
    (void)state;
    ll_shape a = LL_SHAPE(7);
    ll_shape b = LL_SHAPE(2, 3);
    ll_shape c = LL_SHAPE(2, 3, 4);
    ll_shape d = LL_SHAPE(5, 6, 7, 8);
    assert_int_equal(a.ndim, 1);
    assert_int_equal(a.dim[0], 7);
    assert_int_equal(b.ndim, 2);
    assert_int_equal(b.dim[0], 2);
    assert_int_equal(b.dim[1], 3);
    assert_int_equal(c.ndim, 3);
    assert_int_equal(c.dim[2], 4);
    assert_int_equal(d.ndim, 4);
    assert_int_equal(d.dim[0], 5);
    assert_int_equal(d.dim[3], 8);

    assert_int_equal(ll_shape_size(a), 7);
    assert_int_equal(ll_shape_size(c), 24);
    assert_int_equal(ll_shape_size(d), 1680);
    ll_shape scalar = {0};
    assert_int_equal(ll_shape_size(scalar), 1);

    assert_true(ll_shape_equal(b, LL_SHAPE(2, 3)));
    assert_false(ll_shape_equal(b, LL_SHAPE(3, 2)));
    assert_false(ll_shape_equal(b, LL_SHAPE(2, 3, 1)));
    assert_false(ll_shape_equal(LL_SHAPE(6), b));
}

static void shape_str_formats(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(ll_shape_str(LL_SHAPE(2, 3), buf, sizeof buf), "(2, 3)");
    assert_string_equal(ll_shape_str(LL_SHAPE(5), buf, sizeof buf), "(5,)");
    assert_string_equal(ll_shape_str(LL_SHAPE(1, 22, 333, 4444), buf, sizeof buf),
                        "(1, 22, 333, 4444)");
    ll_shape scalar = {0};
    assert_string_equal(ll_shape_str(scalar, buf, sizeof buf), "()");

    /* A short buffer truncates but stays a terminated string inside its bounds. */
    char small[8];
    ll_shape_str(LL_SHAPE(12345, 67890), small, sizeof small);
    assert_true(memchr(small, 0, sizeof small) != NULL);
    assert_string_equal(small, "(12345,");
}

static void validate_reports_bad_shapes(void **state)
{
    (void)state;
    ll_shape rank0 = {0};
    assert_fails(ll_shape_validate(rank0, "W"), LL_ESHAPE, "W: rank must be 1 to 4, got 0");
    ll_shape rank5 = {.ndim = 5, .dim = {1, 1, 1, 1}};
    assert_fails(ll_shape_validate(rank5, "W"), LL_ESHAPE, "W: rank must be 1 to 4, got 5");
    assert_fails(ll_shape_validate(LL_SHAPE(2, 0), "W"), LL_ESHAPE,
                 "W: dimension 1 must be positive, got 0");
    assert_fails(ll_shape_validate(LL_SHAPE(2, 3, -4), "x"), LL_ESHAPE,
                 "x: dimension 2 must be positive, got -4");
    /* 2^31 elements are allowed (indices still fit an int), one row more is not. */
    assert_ok(ll_shape_validate(LL_SHAPE(65536, 32768), "big"));
    assert_fails(ll_shape_validate(LL_SHAPE(65536, 32769), "big"), LL_ESHAPE, "more than the 2^31");
    assert_non_null(strstr(ll_last_error(), "big: "));
    assert_fails(ll_shape_validate(LL_SHAPE(65536, 32768, 2), "big"), LL_ESHAPE,
                 "more than the 2^31");
    /* Products beyond 2^64 must not wrap around to a small count: 65536^4 = 2^64
     * is 0 in size_t arithmetic, and 34724 * 27905 * 49477 * 384773 = 2^64 + 4
     * would pass for a 4-element tensor. */
    assert_fails(ll_shape_validate(LL_SHAPE(65536, 65536, 65536, 65536), "huge"), LL_ESHAPE,
                 "more than the 2^31");
    assert_fails(ll_shape_validate(LL_SHAPE(34724, 27905, 49477, 384773), "huge"), LL_ESHAPE,
                 "more than the 2^31");
    ll_tensor t = {0};
    assert_fails(ll_tensor_alloc(&t, LL_SHAPE(34724, 27905, 49477, 384773), LL_CPU), LL_ESHAPE,
                 "more than the 2^31");
    assert_null(t.data);
    assert_ok(ll_shape_validate(LL_SHAPE(1, 2, 3, 4), "ok"));
}

static void alloc_is_zero_filled(void **state)
{
    (void)state;
    ll_tensor t = {0};
    assert_ok(ll_tensor_alloc(&t, LL_SHAPE(3, 4, 5), LL_CPU));
    assert_non_null(t.data);
    assert_true(ll_shape_equal(t.shape, LL_SHAPE(3, 4, 5)));
    assert_int_equal(t.size, 60);
    assert_int_equal(t.capacity, 60);
    assert_int_equal(t.device, LL_CPU);
    for (size_t i = 0; i < t.size; i++)
        assert_true(t.data[i] == 0);

    /* Allocating again replaces the contents with fresh zeros. */
    for (size_t i = 0; i < t.size; i++)
        t.data[i] = (ll_real)(i + 1);
    assert_ok(ll_tensor_alloc(&t, LL_SHAPE(7), LL_CPU));
    assert_int_equal(t.size, 7);
    assert_int_equal(t.capacity, 7);
    for (size_t i = 0; i < t.size; i++)
        assert_true(t.data[i] == 0);

    /* A failed alloc leaves the tensor as it was. */
    ll_real *before = t.data;
    assert_fails(ll_tensor_alloc(&t, LL_SHAPE(0, 3), LL_CPU), LL_ESHAPE,
                 "tensor: dimension 0 must be positive, got 0");
    assert_ptr_equal(t.data, before);
    assert_int_equal(t.size, 7);
    assert_true(ll_shape_equal(t.shape, LL_SHAPE(7)));
    ll_tensor_free(&t);
}

static void ensure_reuses_and_grows(void **state)
{
    (void)state;
    ll_tensor t = {0};
    /* An empty tensor gets memory. */
    assert_ok(ll_tensor_ensure(&t, LL_SHAPE(4, 5), LL_CPU));
    assert_non_null(t.data);
    assert_int_equal(t.size, 20);
    assert_int_equal(t.capacity, 20);
    ll_real *first = t.data;

    /* Smaller or equal: same buffer, new shape and size, capacity kept. */
    assert_ok(ll_tensor_ensure(&t, LL_SHAPE(2, 3), LL_CPU));
    assert_ptr_equal(t.data, first);
    assert_true(ll_shape_equal(t.shape, LL_SHAPE(2, 3)));
    assert_int_equal(t.size, 6);
    assert_int_equal(t.capacity, 20);
    assert_ok(ll_tensor_ensure(&t, LL_SHAPE(5, 2, 2), LL_CPU));
    assert_ptr_equal(t.data, first);
    assert_int_equal(t.size, 20);
    assert_int_equal(t.capacity, 20);

    /* Larger: a new buffer of exactly the new size. */
    assert_ok(ll_tensor_ensure(&t, LL_SHAPE(3, 7), LL_CPU));
    assert_true(ll_shape_equal(t.shape, LL_SHAPE(3, 7)));
    assert_int_equal(t.size, 21);
    assert_int_equal(t.capacity, 21);
    for (size_t i = 0; i < t.size; i++) /* the whole new buffer is writable */
        t.data[i] = (ll_real)i;
    ll_real *second = t.data;
    assert_ok(ll_tensor_ensure(&t, LL_SHAPE(21), LL_CPU));
    assert_ptr_equal(t.data, second);

    /* A bad shape fails without touching the tensor. */
    assert_fails(ll_tensor_ensure(&t, LL_SHAPE(3, -1), LL_CPU), LL_ESHAPE,
                 "tensor: dimension 1 must be positive, got -1");
    assert_ptr_equal(t.data, second);
    assert_true(ll_shape_equal(t.shape, LL_SHAPE(21)));
    assert_int_equal(t.size, 21);
    ll_tensor_free(&t);
}

static void from_copy_reshape_fill(void **state)
{
    (void)state;
    const ll_real values[6] = {1, -2, 3.5, 0.25, -0.125, 6};
    ll_tensor a = {0}, b = {0};
    assert_ok(ll_tensor_from(&a, LL_SHAPE(2, 3), values));
    assert_int_equal(a.device, LL_CPU);
    assert_int_equal(a.size, 6);
    assert_memory_equal(a.data, values, sizeof values);
    assert_fails(ll_tensor_from(&b, LL_SHAPE(2, 0), values), LL_ESHAPE,
                 "dimension 1 must be positive");
    assert_null(b.data);

    /* copy: dst must hold the same number of elements; it takes src's shape. */
    assert_fails(ll_tensor_copy(&b, &a), LL_ESHAPE,
                 "tensor copy: dst has shape (), expected 6 elements like src (2, 3)");
    assert_ok(ll_tensor_alloc(&b, LL_SHAPE(4), LL_CPU));
    assert_fails(ll_tensor_copy(&b, &a), LL_ESHAPE,
                 "tensor copy: dst has shape (4,), expected 6 elements like src (2, 3)");
    assert_true(b.data[0] == 0); /* untouched */
    assert_ok(ll_tensor_alloc(&b, LL_SHAPE(3, 2), LL_CPU));
    assert_ok(ll_tensor_copy(&b, &a));
    assert_true(ll_shape_equal(b.shape, LL_SHAPE(2, 3)));
    assert_memory_equal(b.data, values, sizeof values);
    assert_true(b.data != a.data);
    ll_tensor empty = {0};
    assert_fails(ll_tensor_copy(&b, &empty), LL_EARG, "tensor copy: src is an empty tensor");
    assert_fails(ll_tensor_copy(&b, NULL), LL_EARG, "tensor copy: src is NULL");

    /* reshape: same count, data untouched; otherwise a message with both shapes. */
    ll_real *data = a.data;
    assert_ok(ll_tensor_reshape(&a, LL_SHAPE(3, 1, 2)));
    assert_true(ll_shape_equal(a.shape, LL_SHAPE(3, 1, 2)));
    assert_ptr_equal(a.data, data);
    assert_int_equal(a.size, 6);
    assert_memory_equal(a.data, values, sizeof values);
    assert_fails(ll_tensor_reshape(&a, LL_SHAPE(4, 2)), LL_ESHAPE,
                 "reshape: (3, 1, 2) has 6 elements, cannot become (4, 2) with 8");
    assert_true(ll_shape_equal(a.shape, LL_SHAPE(3, 1, 2)));
    assert_fails(ll_tensor_reshape(&a, LL_SHAPE(6, 0)), LL_ESHAPE,
                 "reshape: dimension 1 must be positive, got 0");
    assert_ok(ll_tensor_reshape(&a, LL_SHAPE(6)));
    assert_true(ll_shape_equal(a.shape, LL_SHAPE(6)));

    /* fill */
    assert_ok(ll_tensor_fill(&a, (ll_real)-1.5));
    for (size_t i = 0; i < a.size; i++)
        assert_true(a.data[i] == (ll_real)-1.5);
    assert_fails(ll_tensor_fill(&empty, 1), LL_EARG, "fill: t is an empty tensor");
    assert_fails(ll_tensor_fill(NULL, 1), LL_EARG, "fill: t is NULL");

    ll_tensor_free(&a), ll_tensor_free(&b);
}

static void expect_messages(void **state)
{
    (void)state;
    ll_tensor w = ll_test_tensor(LL_SHAPE(3, 2), (double[]){1, 2, 3, 4, 5, 6});
    assert_ok(ll_expect_shape("affine", "W", &w, LL_SHAPE(3, 2)));
    assert_fails(ll_expect_shape("affine", "W", &w, LL_SHAPE(2, 3)), LL_ESHAPE,
                 "affine: W has shape (3, 2), expected (2, 3)");
    assert_fails(ll_expect_shape("affine", "W", &w, LL_SHAPE(6)), LL_ESHAPE,
                 "affine: W has shape (3, 2), expected (6,)");
    assert_fails(ll_expect_shape("affine", "W", NULL, LL_SHAPE(6)), LL_EARG,
                 "affine: W is NULL, expected a tensor");

    ll_tensor empty = {0};
    assert_ok(ll_expect_tensor("conv", "x", &w));
    assert_fails(ll_expect_tensor("conv", "x", NULL), LL_EARG,
                 "conv: x is NULL, expected a tensor");
    assert_fails(ll_expect_tensor("conv", "x", &empty), LL_EARG,
                 "conv: x is an empty tensor, expected allocated memory");

    assert_ok(ll_expect_cpu("pool", "y", &w));
    assert_fails(ll_expect_cpu("pool", "y", &empty), LL_EARG, "pool: y is an empty tensor");
    /* A tensor that claims to be on the GPU (its pointer is never dereferenced,
     * and it is not freed through ll_tensor_free). */
    ll_real dummy[4] = {7, 7, 7, 7};
    ll_tensor on_gpu = {
        .shape = LL_SHAPE(4), .size = 4, .capacity = 4, .device = LL_GPU, .data = dummy};
    assert_fails(ll_expect_cpu("pool", "y", &on_gpu), LL_EDEVICE,
                 "pool: y is on the GPU, expected a CPU tensor (copy it with ll_tensor_copy)");
    /* Filling a GPU tensor launches a kernel, so this fake one (host memory)
     * may only go there when there is no GPU to run it: then it is refused. */
    if (!ll_gpu_available())
        assert_fails(ll_tensor_fill(&on_gpu, 0), LL_ENOGPU, NULL);
    assert_true(dummy[0] == 7 && dummy[3] == 7);
    ll_tensor_free(&w);
}

static void free_is_idempotent(void **state)
{
    (void)state;
    ll_tensor empty = {0};
    ll_tensor_free(&empty);
    ll_tensor_free(&empty);
    ll_tensor_free(NULL);
    assert_null(empty.data);

    ll_tensor t = {0};
    assert_ok(ll_tensor_alloc(&t, LL_SHAPE(2, 2), LL_CPU));
    ll_tensor_free(&t);
    assert_null(t.data);
    assert_int_equal(t.size, 0);
    assert_int_equal(t.capacity, 0);
    assert_int_equal(t.shape.ndim, 0);
    assert_int_equal(t.device, LL_CPU);
    ll_tensor_free(&t); /* twice is fine */
}

static void status_names(void **state)
{
    (void)state;
    assert_string_equal(ll_status_name(LL_OK), "ok");
    assert_string_equal(ll_status_name(LL_ESHAPE), "shape error");
    assert_string_equal(ll_status_name(LL_ENOGPU), "no GPU");
    assert_string_equal(ll_status_name(LL_EFORMAT), "format error");
    assert_int_equal(ll_fail(LL_EARG, "value %d of %s", 42, "x"), LL_EARG);
    assert_string_equal(ll_last_error(), "value 42 of x");
}

/* Without a usable GPU every device request fails with LL_ENOGPU and says why. */
static void gpu_absent_is_reported(void **state)
{
    (void)state;
    if (ll_gpu_available())
        skip(); /* this machine has a GPU: gpu_round_trip covers it */
    assert_true(strlen(ll_gpu_describe()) > 0);

    void *p = (void *)&p;
    assert_fails(ll_gpu_alloc(&p, 64), LL_ENOGPU, NULL);
    assert_null(p);
    assert_true(strlen(ll_last_error()) > 0);
#ifdef LL_HAVE_CUDA
    assert_fails(ll_gpu_alloc(&p, 64), LL_ENOGPU, "no usable NVIDIA GPU");
#else
    assert_fails(ll_gpu_alloc(&p, 64), LL_ENOGPU, "built without CUDA");
#endif

    /* Through the tensor API: the failure leaves the tensor as it was. */
    ll_tensor t = ll_test_tensor(LL_SHAPE(2), (double[]){1, 2});
    ll_real *data = t.data;
    assert_fails(ll_tensor_alloc(&t, LL_SHAPE(8), LL_GPU), LL_ENOGPU, NULL);
    assert_true(strlen(ll_last_error()) > 0);
    assert_ptr_equal(t.data, data);
    assert_int_equal(t.device, LL_CPU);
    assert_true(t.data[1] == 2);
    assert_fails(ll_tensor_ensure(&t, LL_SHAPE(1), LL_GPU), LL_ENOGPU, NULL);
    assert_ptr_equal(t.data, data);
    ll_real host[2];
    assert_fails(ll_gpu_memcpy(host, false, t.data, false, sizeof host), LL_ENOGPU, NULL);
    ll_tensor_free(&t);
}

/* With a GPU: allocation is zero-filled and a CPU -> GPU -> CPU copy is exact. */
static void gpu_round_trip(void **state)
{
    (void)state;
    if (!ll_gpu_available())
        skip();
    ll_tensor h = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1, -2, 3, -4, 5, -6.5});
    ll_tensor g = {0}, back = {0};
    assert_ok(ll_tensor_alloc(&g, LL_SHAPE(3, 2), LL_GPU));
    assert_int_equal(g.device, LL_GPU);
    assert_ok(ll_tensor_alloc(&back, LL_SHAPE(6), LL_CPU));
    assert_ok(ll_tensor_copy(&back, &g));
    for (size_t i = 0; i < back.size; i++)
        assert_true(back.data[i] == 0);
    assert_ok(ll_tensor_copy(&g, &h));
    assert_true(ll_shape_equal(g.shape, LL_SHAPE(2, 3)));
    assert_ok(ll_tensor_copy(&back, &g));
    assert_memory_equal(back.data, h.data, 6 * sizeof(ll_real));
    assert_ok(ll_tensor_fill(&g, (ll_real)0.5)); /* a kernel on the device */
    assert_ok(ll_tensor_copy(&back, &g));
    for (size_t i = 0; i < back.size; i++)
        assert_true(back.data[i] == (ll_real)0.5);
    ll_real *gdata = g.data;
    assert_ok(ll_tensor_ensure(&g, LL_SHAPE(4), LL_GPU));
    assert_ptr_equal(g.data, gdata);
    ll_tensor_free(&g), ll_tensor_free(&h), ll_tensor_free(&back);
    assert_null(g.data);
}

/* A program's cap on one tensor: refused above it with the flag that lifts
 * it, nothing changed; fine at it; gone again with 0. */
static void tensor_limit_refuses_before_allocating(void **state)
{
    (void)state;
    ll_tensor t = {0};
    assert_ok(ll_tensor_alloc(&t, LL_SHAPE(2, 3), LL_CPU));
    ll_tensor_set_limit(6 * sizeof(ll_real), "--force");
    assert_fails(ll_tensor_alloc(&t, LL_SHAPE(7), LL_CPU), LL_ENOMEM,
                 "7 values (");
    assert_non_null(strstr(ll_last_error(), "it is lifted by --force"));
    assert_int_equal(t.size, 6); /* failures write nothing */
    assert_ok(ll_tensor_alloc(&t, LL_SHAPE(6), LL_CPU));
    ll_tensor_set_limit(0, NULL);
    assert_ok(ll_tensor_alloc(&t, LL_SHAPE(1000), LL_CPU));
    ll_tensor_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shape_macro_counts_rank),
        cmocka_unit_test(shape_str_formats),
        cmocka_unit_test(validate_reports_bad_shapes),
        cmocka_unit_test(alloc_is_zero_filled),
        cmocka_unit_test(ensure_reuses_and_grows),
        cmocka_unit_test(from_copy_reshape_fill),
        cmocka_unit_test(expect_messages),
        cmocka_unit_test(free_is_idempotent),
        cmocka_unit_test(status_names),
        cmocka_unit_test(gpu_absent_is_reported),
        cmocka_unit_test(gpu_round_trip),
        cmocka_unit_test(tensor_limit_refuses_before_allocating),
    };
    return cmocka_run_group_tests_name("tensor", tests, NULL, NULL);
}
